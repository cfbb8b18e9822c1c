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
classify-dense/full 24310.9014 27029.3344 26486.409 42330.7907
classify-dense/qkv-mask 20193.5841 17319.7192 23593.2508 36964.7427
classify-dense/step-t 19150.1448 20114.3644 19547.5972 32066.3265
classify-dense/self 14738.1653 17134.7005 17642.6461 26591.5037
classify-sbt/full 20598.0816 12859.5869 9914.38973 40277.7457
classify-sbt/qkv-mask 24474.9866 14255.8727 12670.582 35210.816
classify-sbt/step-t 17075.3288 6473.89589 4861.74661 36287.4757
classify-sbt/self 18385.2702 6344.18454 4663.25824 27530.714
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.png.tmp'
plot $d using 2:xtic(1) title 'sbt (sgemm)', $d using 3 title 'sbt ternary-f32', $d using 4 title 'sbt ternary-i8', $d using 5 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.svg.tmp'
replot
unset output
