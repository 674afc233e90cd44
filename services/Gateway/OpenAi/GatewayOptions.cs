using System.ComponentModel.DataAnnotations;

namespace LlmMesh.Gateway.OpenAi;

public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>A model name that always means the generator's current bundle (besides its version).</summary>
    [Required, MinLength(1)]
    public string ModelAlias { get; set; } = "llmmesh";

    /// <summary>Most generations one request may ask for (prompts x n).</summary>
    [Range(1, 64)]
    public int MaxChoices { get; set; } = 16;
}
