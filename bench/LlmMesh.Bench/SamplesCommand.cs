using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>Prints unconditioned and prompt-conditioned samples from the generator, with their settings.</summary>
public static class SamplesCommand
{
    private static readonly string[] Prompts =
    [
        "a man riding a horse on a beach",
        "a cat sleeping on a laptop keyboard",
        "two people playing tennis on a clay court",
        "a red double decker bus driving down a city street",
        "a plate of food with broccoli and rice",
        "a little girl holding a pink umbrella in the rain",
        "an airplane flying over snowy mountains",
        "a kitchen with white cabinets and a stainless steel fridge",
        "a group of zebras standing in a dry field",
        "a skateboarder doing a trick at a skate park",
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var count = int.Parse(options.Get("count", "10"));
        var temperature = double.Parse(options.Get("temperature", "0.8"));
        var topP = double.Parse(options.Get("top-p", "0.95"));
        var variation = double.Parse(options.Get("variation", "1.0"));
        var source = Enum.Parse<LatentSource>(options.Get("latent-source", "Unspecified"), ignoreCase: true);
        using var channel = GrpcChannel.ForAddress(options.Get("generator", "http://127.0.0.1:7103"));
        var generator = new Generator.GeneratorClient(channel);
        var model = await generator.GetModelInfoAsync(new GetModelInfoRequest());
        Console.WriteLine($"bundle {model.BundleVersion} ({model.Kind}); temperature {temperature}, top_p {topP}, variation {variation}, latent source {source}, seeds 1..{count}");

        Console.WriteLine("\nunconditioned:");
        for (var i = 1; i <= count; i++)
        {
            Console.WriteLine($"  {i,2}. {await GenerateAsync(generator, new GenerateRequest { Seed = (ulong)i, Temperature = temperature, TopP = topP, LatentSource = source })}");
        }
        if (options.Get("prompts", "yes") == "no")
        {
            return 0;
        }
        Console.WriteLine("\nconditioned on a prompt:");
        for (var i = 1; i <= Math.Min(count, Prompts.Length); i++)
        {
            var text = await GenerateAsync(generator, new GenerateRequest
            {
                Prompt = Prompts[i - 1],
                Variation = variation,
                Seed = (ulong)i,
                Temperature = temperature,
                TopP = topP,
            });
            Console.WriteLine($"  {i,2}. {Prompts[i - 1]}\n      -> {text}");
        }
        return 0;
    }

    private static async Task<string> GenerateAsync(Generator.GeneratorClient generator, GenerateRequest request)
    {
        request.MaxTokens = 48;
        using var call = generator.Generate(request, deadline: DateTime.UtcNow.AddMinutes(1));
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.Final is { } final)
            {
                return final.Text.Trim();
            }
        }
        return "(no final message)";
    }
}
