package models

import _ "embed"

// LeNet5 is the ONNX file of the shipped MNIST LeNet-5 (lenet5.onnx).
//
//go:embed lenet5.onnx
var LeNet5 []byte

// LeNet5Name is the file name LeNet5 was embedded from.
const LeNet5Name = "models/lenet5.onnx"
