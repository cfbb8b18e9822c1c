set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 1, 2 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 591.882339 367.371025 373.383877 272.693834 689.687196
classify-dense/qkv-mask 563.801085 340.177006 353.716918 344.185293 744.085449
classify-dense/self 436.969075 228.380984 229.170673 237.929009 451.83172
classify-dense/step-t 579.66196 278.278267 268.361424 264.363123 820.305239
classify-sbt/full 569.540391 345.229128 173.111 138.21255 483.855522
classify-sbt/qkv-mask 644.448436 332.190413 193.028888 159.089421 660.195021
classify-sbt/self 366.563282 183.095132 74.2873947 29.4509249 453.833344
classify-sbt/step-t 580.89331 273.333293 119.05923 51.5168809 667.644161
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.svg.tmp'
replot
unset output
