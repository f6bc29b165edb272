// Package finetune trains a converted network for its spiking form:
// SNN-aware fine-tuning at a low window Tmax.
//
// A Quartz SNN computes, wherever no neuron fires early, exactly a
// quantized ANN (SPEC §1–§6): the input pixel v becomes the level
// ⌊T·v + ½⌋ of the input window T, every spiking layer's normalized
// output u = W·x + b (x = levels/T) becomes ⌊T_out·u + ½⌋ clipped to
// [0, T_out] (an unrectified output layer only above), and MaxPool takes
// the largest level. At Tmax 16 that network is close to the float ANN;
// at Tmax 2–4 it is not, and accuracy falls.
//
// Fine-tuning trains that quantized network itself. Build takes a
// pipeline.Converted (calibrated and normalized at the chosen percentile)
// and inserts a graph.Quant node on the model input (unless the first
// layer is analog) and after every node that becomes a spiking or analog
// layer of the SNN, with that layer's decoding window, so that the
// network's forward pass is the SNN's value for value; a fixed Affine at
// the end multiplies the output by the output layer's scale P_out, which
// gives the logits of the cross-entropy loss the scale the ANN was
// trained at. Gradients pass the rounding straight through (nn's Quant
// layer: inside the clip range, and at saturation only when they lower
// the value). Run trains that network with package train and Strip
// removes the Quant and Affine nodes again: what is left is the
// normalized network, with metadata (graph.MetaNormalized) that makes
// every converter keep its weights as they are (scales 1), so that the
// SNN converted from it at the same Tmax is exactly the network trained.
//
// What is not exact: the SNN's arithmetic (float32 sums of integer levels
// times weights, in another order) can land on the other side of a
// rounding boundary for rare values, and a neuron whose partial sum
// crosses the threshold before its inputs have all arrived fires early
// (SPEC §6). Saturation, the fraction of a layer's values above 1, is the
// proxy Run measures before and after training.
package finetune
