package ratecode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/graph"
	"github.com/quartz-snn/quartz/internal/graphtest"
	"github.com/quartz-snn/quartz/ratecode"
)

// TestRefusesDAG: a residual network is refused naming the Add node,
// wrapping graph.ErrBranching.
func TestRefusesDAG(t *testing.T) {
	_, err := ratecode.New(graphtest.Residual(), ratecode.Config{Steps: 10})
	if !errors.Is(err, graph.ErrBranching) || !strings.Contains(err.Error(), `node 3 "add1" (Add)`) || !strings.HasPrefix(err.Error(), "ratecode: ") {
		t.Errorf("%v, want graph.ErrBranching naming node 3 \"add1\"", err)
	}
}

// TestRefusesAnnOnly: Tanh is refused naming the node, with the reason.
func TestRefusesAnnOnly(t *testing.T) {
	_, err := ratecode.New(graphtest.Tanh(), ratecode.Config{Steps: 10})
	var ce *ratecode.ConvertError
	if !errors.As(err, &ce) || ce.Layer != 1 || ce.Name != "tanh1" || !strings.Contains(err.Error(), `node 1 "tanh1" (Tanh)`) ||
		!strings.Contains(err.Error(), graph.Tanh.AnnOnly()) {
		t.Errorf("%v, want a *ConvertError for node 1 \"tanh1\" with the ANN-only reason", err)
	}
}
