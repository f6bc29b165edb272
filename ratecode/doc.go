// Package ratecode is the rate-coded baseline of the Quartz toolkit: the
// classic ANN-to-SNN conversion of Diehl et al. (IJCNN 2015) and Rueckauer
// et al. (Front. Neurosci. 2017), run on the same normalized network as the
// Quartz conversion, with the same metrics, so that the two codings can be
// compared on one model and one data set (the paper's central comparison).
//
// # Model
//
// New takes a simplified (BatchNorm folded) and normalized chain model, the
// one package normalize returns: with P_l the layer's activation percentile,
// W_l·P_{l−1}/P_l and b_l/P_l, which is also the data-based normalization
// of Rueckauer 2017 (their λ_l is our P_l). Every Conv, Linear, AvgPool and
// GlobalAvgPool becomes a layer of non-leaky integrate-and-fire neurons with
// threshold 1 and reset by subtraction; at each step t = 1..N, layer by layer
// from the input to the output (a spike reaches every later layer in the step
// it is emitted, as in the SNN toolbox of Rueckauer 2017), a neuron does
//
//  1. u ← u + Σ w over the input spikes of this step;
//  2. u ← u + I, with I its constant current: the bias b (a current every
//     step, not a spike) or, in the first layer, W·x + b;
//  3. if u ≥ 1: spike, u ← u − 1 (at most one spike per step).
//
// The potential has no lower bound. Over N steps a neuron with constant net
// input a emits ⌊N·a⌋ spikes (0 ≤ a ≤ 1): its rate approximates the
// normalized ANN activation clipped to [0, 1], the ReLU and the saturation
// at one spike per step being the two ends of the clip.
//
// Input: the first layer receives the pixels as an analog current (Rueckauer
// 2017, §2.2): its current W·x + b is computed once per sample (the layer's
// MACs, reported by Sim.AnalogMACs) and added every step. There are no input
// spikes, hence no input synaptic events. Pixels need no particular range;
// NaN and infinite values are an error. A graph.Affine input transform
// before the first layer (graph.PrependPreprocess) is part of that current:
// it reads x[c,·]·Scale[c] + Shift[c], zero-padded after the transform, as
// the ANN does.
//
// MaxPool: spike-count gating, the "max of rates" of Rueckauer 2017 §2.2.4
// computed online. A gate neuron per pooling window relays the spikes of its
// winner and drops the others' spikes. The winner is an input with the most
// spikes so far (this step's spike included); it starts as the window's first
// input and a challenger replaces it only when it has strictly more spikes.
// Then the gate fires exactly when the maximum of its inputs' spike counts
// grows, so its count equals that maximum at every step: the gate's rate is
// the max of the rates, with no transient loss or excess. (Switching on ties
// as well would let two inputs of equal rate in opposite phase pass both
// their spikes; comparing counts before the step would drop both.) A spike
// into a gate is a synaptic event (one per window it belongs to), as for
// Quartz relays; gate neurons are counted apart from ν.
//
// Output: the last layer's neurons are IF neurons like the others (their
// spikes count, with fan-out 0), with no rectifier: their potential may go
// negative. The class is read from the output potential V = Σ_t I(t) = spikes
// + residual u, the input integrated over the steps so far, whose argmax
// (ties to the lowest index) is also the most-spiking neuron whenever the
// residuals lie in [0, 1); reading the most spikes alone ties often at small
// N, so it is reported apart (Checkpoint.CorrectCount, CountTies).
//
// # Metrics
//
// Per sample, summed over samples by Summary, and read at every checkpoint
// (cumulative up to that step):
//   - ν: the IF neurons (Sim.Neurons), the analog first layer included;
//     MaxPool gate neurons apart;
//   - spikes: spikes of IF neurons; relayed spikes apart;
//   - synaptic events σ: Σ over spikes of the spiking neuron's fan-out into
//     the next layer (padding has no synapses), gates included. The bias and
//     the first layer's analog current are part of the neuron update, not of σ;
//   - neuron updates: ν·N, one per neuron and step (integrating the constant
//     current and testing the threshold);
//   - Ω-equivalent: σ + ν·N, the counterpart of Quartz's Ω = σ + 2νT;
//   - accuracy at each checkpoint, read from the potential and from the
//     spike counts.
//
// # Determinism
//
// A sample's simulation depends only on the sample; sums over samples are
// integers. Evaluate gives the same Summary for any number of workers, and
// allocates nothing per sample once its workers exist.
package ratecode
