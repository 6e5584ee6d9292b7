package dev.woq.cli;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The picture of a {@link BenchReport}: three bar panels side by side (median decode tokens/s,
 * median prefill tokens/s, and memory: peak RSS and bytes on disk) per format.
 */
final class BenchChart {
    static final int PANEL_WIDTH = 420;
    static final int PANEL_HEIGHT = 420;
    static final int TITLE_HEIGHT = 44;

    private BenchChart() {}

    static BufferedImage render(BenchReport report) {
        List<String> formats = report.rows().stream().map(BenchRow::format).toList();
        CategoryChart decode = panel("Decode (tokens/s, higher is better)", "tokens/s");
        decode.addSeries("decode", formats, report.rows().stream().map(r -> r.decode().median()).toList());
        CategoryChart prefill = panel("Prefill, " + report.promptTokens() + "-token prompt (tokens/s)", "tokens/s");
        prefill.addSeries("prefill", formats,
                report.rows().stream().map(r -> r.measurement().prefillTokensPerSecond().median()).toList());
        CategoryChart memory = panel("Memory (GB, lower is better)", "GB");
        memory.addSeries("peak RSS", formats, report.rows().stream().map(r -> r.peakRssBytes() / 1e9).toList());
        memory.addSeries("on disk", formats, report.rows().stream().map(r -> r.diskBytes() / 1e9).toList());
        decode.getStyler().setSeriesColors(new Color[] {new Color(0x1f77b4)});
        prefill.getStyler().setSeriesColors(new Color[] {new Color(0x2ca02c)});
        memory.getStyler().setSeriesColors(new Color[] {new Color(0xd62728), new Color(0x7f7f7f)});
        // One series needs no legend; two get theirs below the plot, clear of the bars.
        decode.getStyler().setLegendVisible(false);
        prefill.getStyler().setLegendVisible(false);
        memory.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        memory.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);

        List<CategoryChart> panels = List.of(decode, prefill, memory);
        BufferedImage image = new BufferedImage(PANEL_WIDTH * panels.size(), TITLE_HEIGHT + PANEL_HEIGHT,
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(String.format(Locale.ROOT, "woq bench: %s, %d threads, %s", report.model(), report.threads(),
                report.date()), 12, 20);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString(String.format(Locale.ROOT, "%d new tokens, median of %d run%s; memory read bandwidth %.1f GB/s",
                report.newTokens(), report.runs(), report.runs() == 1 ? "" : "s",
                report.bandwidthGigabytesPerSecond()), 12, 37);
        for (int i = 0; i < panels.size(); i++) {
            g.drawImage(BitmapEncoder.getBufferedImage(panels.get(i)), i * PANEL_WIDTH, TITLE_HEIGHT, null);
        }
        g.dispose();
        return image;
    }

    private static CategoryChart panel(String title, String yTitle) {
        CategoryChart chart = new CategoryChartBuilder().width(PANEL_WIDTH).height(PANEL_HEIGHT)
                .title(title).yAxisTitle(yTitle).build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        chart.getStyler().setDecimalPattern("#,##0.##");
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        return chart;
    }
}
