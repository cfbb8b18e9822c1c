set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 64, 1 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 5599.44557 8006.80957 8519.498 8636.25267 13360.5115
classify-dense/qkv-mask 6130.59842 8527.26706 8109.15878 7749.40254 12430.5708
classify-dense/self 3732.6222 3940.10054 4057.09533 4170.88795 7673.78046
classify-dense/step-t 5479.55541 4785.88787 4741.00419 4729.39626 12382.6455
classify-sbt/full 5397.88077 5749.6613 5386.49015 5091.91935 13839.3919
classify-sbt/qkv-mask 5656.85555 5882.95781 6151.30244 5213.13502 12160.9426
classify-sbt/self 3605.91885 2817.25443 3184.36705 2340.88914 9363.5492
classify-sbt/step-t 4423.10267 3576.0048 3454.84698 2787.01881 10523.994
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.svg.tmp'
replot
unset output
