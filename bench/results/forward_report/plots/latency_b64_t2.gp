set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 64, 2 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 15238.6269 8783.99858 32327.9413 8722.338 270553.453
classify-dense/qkv-mask 15945.5691 16351.3477 21546.9798 8513.24528 535394.088
classify-dense/self 9737.03744 4392.32725 4597.06281 4945.6962 110002.012
classify-dense/step-t 13648.3496 5633.2469 5411.06969 5251.87122 164022.521
classify-sbt/full 10998.5458 6067.71531 5436.31006 5108.00525 156834.896
classify-sbt/qkv-mask 11457.8841 5831.40975 5996.47439 5079.89524 168344.586
classify-sbt/self 8942.05341 3167.25464 2959.51917 2596.23178 119275.754
classify-sbt/step-t 9484.41517 3959.07588 3324.87112 2752.92594 164521.356
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.svg.tmp'
replot
unset output
