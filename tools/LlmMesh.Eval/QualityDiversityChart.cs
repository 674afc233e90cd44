using SkiaSharp;

namespace LlmMesh.Eval;

/// <summary>One point of a quality-diversity curve.</summary>
public readonly record struct CurvePoint(double SelfBleu, double Bleu, string Label);

/// <summary>A named curve (connected points) or a set of reference points (markers only).</summary>
public sealed record CurveSeries(string Name, IReadOnlyList<CurvePoint> Points, bool Connected = true);

/// <summary>Draws BLEU (quality, up) against Self-BLEU (diversity, lower is better, right) as a PNG.</summary>
public static class QualityDiversityChart
{
    private const int Width = 1100;
    private const int Height = 700;
    private const float Left = 80, Right = 300, Top = 50, Bottom = 70;

    private static readonly SKColor[] Palette =
        [new(0x1f, 0x77, 0xb4), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c), new(0x94, 0x67, 0xbd), new(0xff, 0x7f, 0x0e), new(0x8c, 0x56, 0x4b)];

    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<CurveSeries> series)
    {
        var points = series.SelectMany(s => s.Points).ToArray();
        if (points.Length == 0)
        {
            throw new ArgumentException("a chart needs at least one point", nameof(series));
        }
        var (xMin, xMax) = Range(points.Select(p => p.SelfBleu));
        var (yMin, yMax) = Range(points.Select(p => p.Bleu));
        float X(double v) => Left + (float)((v - xMin) / (xMax - xMin)) * (Width - Left - Right);
        float Y(double v) => Height - Bottom - (float)((v - yMin) / (yMax - yMin)) * (Height - Top - Bottom);

        using var surface = SKSurface.Create(new SKImageInfo(Width, Height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var typeface = LoadTypeface();
        using var font = new SKFont(typeface, 14);
        using var titleFont = new SKFont(typeface, 18);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1 };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.5f };

        foreach (var xv in Ticks(xMin, xMax))
        {
            canvas.DrawLine(X(xv), Top, X(xv), Height - Bottom, grid);
            canvas.DrawText(xv.ToString("0.0#"), X(xv), Height - Bottom + 20, SKTextAlign.Center, font, text);
        }
        foreach (var yv in Ticks(yMin, yMax))
        {
            canvas.DrawLine(Left, Y(yv), Width - Right, Y(yv), grid);
            canvas.DrawText(yv.ToString("0.0#"), Left - 8, Y(yv) + 5, SKTextAlign.Right, font, text);
        }
        canvas.DrawLine(Left, Height - Bottom, Width - Right, Height - Bottom, axis);
        canvas.DrawLine(Left, Top, Left, Height - Bottom, axis);
        canvas.DrawText(title, Width / 2f, 30, SKTextAlign.Center, titleFont, text);
        canvas.DrawText(xLabel, Left + (Width - Left - Right) / 2f, Height - 20, SKTextAlign.Center, font, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 22, Top + (Height - Top - Bottom) / 2f);
        canvas.DrawText(yLabel, 22, Top + (Height - Top - Bottom) / 2f, SKTextAlign.Center, font, text);
        canvas.Restore();

        for (var s = 0; s < series.Count; s++)
        {
            using var paint = new SKPaint { Color = Palette[s % Palette.Length], StrokeWidth = 2, IsAntialias = true };
            var curve = series[s].Points;
            for (var i = 0; i < curve.Count; i++)
            {
                var (x, y) = (X(curve[i].SelfBleu), Y(curve[i].Bleu));
                if (series[s].Connected && i > 0)
                {
                    canvas.DrawLine(X(curve[i - 1].SelfBleu), Y(curve[i - 1].Bleu), x, y, paint);
                }
                canvas.DrawCircle(x, y, series[s].Connected ? 4 : 6, paint);
                canvas.DrawText(curve[i].Label, x + 7, y - 6, SKTextAlign.Left, font, paint);
            }
            var legendY = Top + 10 + s * 24;
            canvas.DrawCircle(Width - Right + 25, legendY - 5, 6, paint);
            canvas.DrawText(series[s].Name, Width - Right + 38, legendY, SKTextAlign.Left, font, text);
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    /// <summary>Round tick values (steps of 1, 2 or 5 times a power of ten), about eight of them.</summary>
    private static IEnumerable<double> Ticks(double min, double max)
    {
        var rough = (max - min) / 8;
        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * power).First(candidate => candidate >= rough);
        for (var tick = Math.Ceiling(min / step) * step; tick <= max; tick += step)
        {
            yield return Math.Round(tick, 10);
        }
    }

    private static (double Min, double Max) Range(IEnumerable<double> values)
    {
        var list = values.ToArray();
        var (min, max) = (list.Min(), list.Max());
        var pad = Math.Max((max - min) * 0.08, 0.01);
        return (min - pad, max + pad);
    }

    /// <summary>A system sans-serif font; Skia's default typeface when none is installed.</summary>
    private static SKTypeface LoadTypeface()
    {
        string[] candidates = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];
        var path = candidates.FirstOrDefault(File.Exists);
        return (path is null ? null : SKTypeface.FromFile(path)) ?? SKTypeface.Default;
    }
}
