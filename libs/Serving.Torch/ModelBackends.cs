using System.Runtime.CompilerServices;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Onnx;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmMesh.Serving.Torch;

/// <summary>The one place a serving service's backend is chosen.</summary>
public static class ModelBackends
{
    /// <summary>
    /// Binds <see cref="BackendOptions"/> from <paramref name="section"/> (Backend, Threads) and
    /// registers the chosen <see cref="IModelBackend"/>.
    /// </summary>
    public static IHostApplicationBuilder AddModelBackend(this IHostApplicationBuilder builder, string section)
    {
        builder.Services.AddOptions<BackendOptions>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => Create(sp.GetRequiredService<IOptions<BackendOptions>>().Value));
        return builder;
    }

    public static IModelBackend Create(BackendOptions options) => options.Backend switch
    {
        ModelBackend.Onnx => new OnnxModelBackend(options.Threads),
        ModelBackend.Torch => CreateTorch(options.Threads),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Backend, "unknown backend"),
    };

    // Kept out of Create's body so that choosing ONNX never compiles code that touches libtorch.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TorchModelBackend CreateTorch(int threads) => new(threads);
}
