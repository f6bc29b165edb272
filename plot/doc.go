// Package plot draws the paper's trade-off figures for a sweep or a single
// network with gonum.org/v1/plot: error against Tmax (Figure 2), against
// operations (Figure 3) and against dynamic energy (Figure 4), normalized
// against original activations for the classic and the bias-corrected
// normalization (Figure 6), accuracy and early spikes against the percentile
// (Figure 7), per-layer costs, and the spike raster and membrane traces of
// one sample (Figure 1).
//
// Every figure is a Figure: the table it draws and a recipe that builds the
// drawing for a Style: Screen (7 inches wide, PNG at 100 dpi) or Paper (one
// 3.5-inch journal column, 8–9 pt text, for SVG and PDF). Save writes
// NAME.png, NAME.svg and/or NAME.pdf and NAME.csv (the plotted numbers)
// side by side.
//
// # Readability
//
// Every caption gives the sample count. Wherever an accuracy or error is
// plotted, its 95 % Wilson score interval (pipeline.Wilson) is drawn as an
// error bar, and the sweep's best point is circled with where it was chosen
// (validation slice or test set). Numeric axes get 1-2-5 ticks with at
// least MinTickLabels labels; layer names are shortened by ShortNames and
// stand upright when they would not fit side by side. A golden-file test
// draws every figure in both styles and fails on overlapping text or too
// few tick labels as well as on changed bytes.
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
