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
classify-dense/full 344.734782 926.597443
classify-dense/qkv-mask 363.600535 880.073121
classify-dense/step-t 257.632379 876.516375
classify-dense/self 191.361928 537.935949
classify-sbt/full 286.978366 842.194695
classify-sbt/qkv-mask 333.478617 922.614653
classify-sbt/step-t 202.027776 890.014833
classify-sbt/self 256.500074 565.196278
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.png.tmp'
plot $d using 2:xtic(1) title 'sbt (forward)', $d using 3 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.svg.tmp'
replot
unset output
