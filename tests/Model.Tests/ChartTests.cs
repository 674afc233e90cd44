using LlmMesh.Eval;
using SkiaSharp;

namespace LlmMesh.Model.Tests;

public sealed class ChartTests
{
    [Fact]
    public void The_quality_diversity_chart_is_a_png_with_the_curves_drawn()
    {
        var path = Path.Combine(Path.GetTempPath(), $"chart-{Guid.NewGuid():N}.png");
        try
        {
            QualityDiversityChart.Save(path, "title", "Self-BLEU-4", "BLEU-4",
            [
                new CurveSeries("latent GAN", [new(0.55, 0.30, "T=0.9"), new(0.62, 0.34, "T=0.8")]),
                new CurveSeries("real captions", [new(0.574, 0.337, "real")], Connected: false),
            ]);
            using var bitmap = SKBitmap.Decode(path);
            Assert.Equal((1100, 700), (bitmap.Width, bitmap.Height));
            var red = Enumerable.Range(0, bitmap.Width).SelectMany(x => Enumerable.Range(0, bitmap.Height).Select(y => bitmap.GetPixel(x, y)))
                .Count(p => p.Red > 200 && p.Green < 80 && p.Blue < 80);
            Assert.True(red > 50, "the second series is drawn in red");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
