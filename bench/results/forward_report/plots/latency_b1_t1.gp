set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 1, 1 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 362.663136 356.441259 359.809628 277.788762 877.199075
classify-dense/qkv-mask 318.433719 316.959454 352.749205 336.936977 941.692896
classify-dense/self 187.11053 233.904518 230.952444 228.428273 554.884543
classify-dense/step-t 286.491862 288.397364 273.632424 262.058379 690.430144
classify-sbt/full 270.915442 346.499782 275.282629 146.820439 702.402144
classify-sbt/qkv-mask 278.182249 670.592643 180.680131 145.072605 704.934511
classify-sbt/self 173.12136 237.160723 76.2781261 29.9778456 294.453008
classify-sbt/step-t 257.800003 268.560432 145.171917 54.4736402 454.037273
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.svg.tmp'
replot
unset output
