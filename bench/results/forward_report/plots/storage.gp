set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Storage per model: float32, 1 bit per sparse weight (paper), entropy bound, real encodings"
set xlabel "model"
set ylabel "storage (bits, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense 1368352 1368352 1368352
classify-sbt 1368352 45728 45649.0569
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/storage.png.tmp'
plot $d using 2:xtic(1) title 'float32', '' using 3 title 'paper: 1 bit per sparse weight', '' using 4 title 'entropy bound'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/storage.svg.tmp'
replot
unset output
