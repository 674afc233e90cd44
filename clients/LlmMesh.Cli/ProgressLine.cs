using System.Globalization;
using System.Text;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli;

/// <summary>
/// Training progress for a terminal: one line (bar, phase, epoch, step, live loss, KL and ETA)
/// redrawn in place; when the output is not a terminal, a plain line at most every few seconds and
/// at every phase change.
/// </summary>
public sealed class ProgressLine(TextWriter writer, bool interactive, TimeProvider? time = null)
{
    private const int BarWidth = 24;
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private string _phase = "";
    private DateTimeOffset _lastPlain = DateTimeOffset.MinValue;
    private int _drawnWidth;

    public void Update(ProgressUpdate update)
    {
        var line = Format(update);
        if (interactive)
        {
            writer.Write('\r' + line.PadRight(_drawnWidth));
            _drawnWidth = line.Length;
            writer.Flush();
            return;
        }
        var now = _time.GetUtcNow();
        if (update.Phase != _phase || now - _lastPlain >= PlainInterval || update.Validation is not null || update.Message.Length > 0)
        {
            writer.WriteLine(line);
            _lastPlain = now;
        }
        _phase = update.Phase;
    }

    /// <summary>Ends the redrawn line so that what follows starts on its own.</summary>
    public void Finish()
    {
        if (interactive && _drawnWidth > 0)
        {
            writer.WriteLine();
            _drawnWidth = 0;
        }
    }

    public static string Format(ProgressUpdate update)
    {
        var line = new StringBuilder();
        var fraction = update.TotalSteps > 0 ? Math.Clamp((double)update.Step / update.TotalSteps, 0, 1) : 0;
        var filled = (int)Math.Round(fraction * BarWidth);
        line.Append(CultureInfo.InvariantCulture, $"{update.Phase,-11} [{new string('#', filled)}{new string('-', BarWidth - filled)}] {fraction * 100,3:F0}%");
        if (update.Epochs > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $"  epoch {update.Epoch}/{update.Epochs}");
        }
        if (update.TotalSteps > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $"  step {update.Step}/{update.TotalSteps}");
        }
        if (update.Phase == "adversarial")
        {
            line.Append(CultureInfo.InvariantCulture, $"  critic {update.CriticLoss:F3}  W {update.WassersteinEstimate:F3}");
        }
        else if (update.ReconstructionLoss > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $"  loss {update.ReconstructionLoss:F3}  KL {update.Kl:F2} (w {update.KlWeight:F2})");
        }
        if (update.EtaSeconds > 0)
        {
            line.Append("  ETA ").Append(Duration(update.EtaSeconds));
        }
        if (update.Message.Length > 0)
        {
            line.Append("  ").Append(update.Message);
        }
        return line.ToString();
    }

    public static string Duration(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Round(seconds));
        return span.TotalHours >= 1 ? $"{(int)span.TotalHours}h{span.Minutes:D2}m"
            : span.TotalMinutes >= 1 ? $"{span.Minutes}m{span.Seconds:D2}s"
            : $"{span.Seconds}s";
    }
}
