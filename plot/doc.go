// Package plot draws the paper's trade-off figures for a sweep or a single
// network with gonum.org/v1/plot: error against Tmax (Figure 2), against
// operations (Figure 3) and against dynamic energy (Figure 4), normalized
// against original activations for the classic and the bias-corrected
// normalization (Figure 6), accuracy and early spikes against the percentile
// (Figure 7), per-layer costs, and the spike raster and membrane traces of
// one sample (Figure 1).
//
// Every figure is a Figure: a drawing and the table it draws. Save writes
// NAME.png, NAME.svg and NAME.csv (the plotted numbers) side by side.
//
// # Units
//
// Errors and accuracies are percent of the test samples; operations and
// events are counts per image (means over the test set); times are global
// simulation steps; potentials are in units of the layer's input (the
// threshold θ = T − ½).
//
// # Determinism
//
// A figure depends only on its inputs; subsampling (Figure 6) uses fixed
// strides, not random draws.
package plot
