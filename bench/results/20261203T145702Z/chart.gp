set terminal pngcairo size 1400,900 font 'sans,10'
set output '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.png'
set multiplot layout 2,1 title 'bench/run 20261203T145702Z: hoist and peers on emulated networks (median of runs)'
set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1
set key outside right top; set grid ytics; set xtics rotate by -30 noenhanced; set key noenhanced
set logscale y; set ylabel 'MB/s (log)'
plot '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 2:xtic(1) title 'hoist', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 4:xtic(1) title 'hoist-via', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 6:xtic(1) title 'aws-cli', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 8:xtic(1) title 'rclone', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 10:xtic(1) title 'lib-storage', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 12 title 'floor'
unset logscale y; set ylabel '% of the floor time'; set yrange [0:*]
plot '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 3:xtic(1) title 'hoist', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 5:xtic(1) title 'hoist-via', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 7:xtic(1) title 'aws-cli', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 9:xtic(1) title 'rclone', '/work/wt-benchrgw/bench/results/20261203T145702Z/chart.dat' using 11:xtic(1) title 'lib-storage'
unset multiplot
