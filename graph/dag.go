package graph

import (
	"errors"
	"fmt"
)

// ErrBranching marks a model that is not a chain where a consumer handles
// only chains.
var ErrBranching = errors.New("branching networks are not supported")

// Consumers returns, for every node, the indices of the nodes that read its
// output, in increasing order. Inputs must be explicit (InferShapes).
func (m *Model) Consumers() [][]int {
	cons := make([][]int, len(m.Nodes))
	for i := range m.Nodes {
		for _, j := range m.InputsOf(i) {
			if j >= 0 && (len(cons[j]) == 0 || cons[j][len(cons[j])-1] != i) {
				cons[j] = append(cons[j], i)
			}
		}
	}
	return cons
}

// InputsOf returns the inputs of node i, explicit even where its Inputs
// are nil (the node before it).
func (m *Model) InputsOf(i int) []int {
	if m.Nodes[i].Inputs == nil {
		return []int{i - 1}
	}
	return m.Nodes[i].Inputs
}

// IsChain reports whether every node reads exactly the node before it (the
// first node the model input). Nil Inputs count as such.
func (m *Model) IsChain() bool { return m.CheckChain() == nil }

// CheckChain returns nil when m is a chain, else an error wrapping
// ErrBranching that names the first node that reads anything but the node
// before it.
func (m *Model) CheckChain() error {
	for i, l := range m.Nodes {
		if l.Inputs == nil || (len(l.Inputs) == 1 && l.Inputs[0] == i-1) {
			continue
		}
		return fmt.Errorf("node %d %q (%v) reads %s: %w yet", i, l.Name, l.Op, m.describeInputs(l), ErrBranching)
	}
	return nil
}

func (m *Model) describeInputs(l *Node) string {
	s := ""
	for k, j := range l.Inputs {
		if k > 0 {
			s += " and "
		}
		if j == ModelInput {
			s += "the model input"
		} else if j >= 0 && j < len(m.Nodes) {
			s += fmt.Sprintf("%q", m.Nodes[j].Name)
		} else {
			s += fmt.Sprintf("node %d", j)
		}
	}
	return s
}

// CheckConvertible returns nil when every node of m has a Quartz
// equivalent by its op, else an error naming the first ANN-only node and
// why. It says nothing about topology or where a node sits; converters
// check that.
func (m *Model) CheckConvertible() error {
	for i, l := range m.Nodes {
		if why := l.Op.AnnOnly(); why != "" {
			return fmt.Errorf("node %d %q (%v) runs in the ANN only: %s", i, l.Name, l.Op, why)
		}
	}
	return nil
}

// removeNodes returns m without the nodes where drop is true. Each dropped
// node must have exactly one input; its consumers read that input instead.
// Inputs must be explicit.
func (m *Model) removeNodes(drop []bool) {
	newIdx := make([]int, len(m.Nodes))
	out := m.Nodes[:0:0]
	for i, l := range m.Nodes {
		for k, j := range l.Inputs {
			if j >= 0 {
				l.Inputs[k] = newIdx[j]
			}
		}
		if drop[i] {
			newIdx[i] = l.Inputs[0]
			continue
		}
		newIdx[i] = len(out)
		out = append(out, l)
	}
	m.Nodes = out
}
