using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// Token-by-token decoding of one latent code: keeps the decoder state between steps and returns
/// each step's next-token logits as a plain array for sampling in C#.
/// </summary>
public sealed class DecoderSession : IDisposable
{
    private readonly SentenceVae _vae;
    private readonly Tensor _z;
    private Tensor _state;

    public DecoderSession(SentenceVae vae, ReadOnlySpan<float> z)
    {
        _vae = vae;
        using var inference = inference_mode();
        _z = tensor(z.ToArray()).reshape(1, z.Length);
        _state = vae.InitialState(_z);
    }

    public float[] Step(int token)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var (logits, next) = _vae.DecodeStep(tensor(new long[] { token }), _state, _z);
        _state.Dispose();
        _state = next.DetachFromDisposeScope();
        return logits.data<float>().ToArray();
    }

    public void Dispose()
    {
        _state.Dispose();
        _z.Dispose();
    }
}
