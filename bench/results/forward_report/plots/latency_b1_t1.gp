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
classify-dense/full 345.405797 642.660864
classify-dense/qkv-mask 354.881401 715.073616
classify-dense/step-t 276.625599 885.138225
classify-dense/self 188.500763 573.364362
classify-sbt/full 342.78491 689.535181
classify-sbt/qkv-mask 333.034502 523.841864
classify-sbt/step-t 262.049072 784.502
classify-sbt/self 178.811383 428.598036
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.png.tmp'
plot $d using 2:xtic(1) title 'sbt (forward)', $d using 3 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.svg.tmp'
replot
unset output
