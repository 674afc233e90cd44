using System.Text;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Gateway.OpenAi;

/// <summary>
/// Builds OpenAI responses from the merged choice streams, in both shapes: whole responses, and
/// the stream chunks (a chunk per generator message, a finish chunk per choice, usage last).
/// </summary>
/// <param name="choicesPerPrompt">The request's n: choices i*n .. i*n+n-1 answer prompt i.</param>
public sealed class CompletionBuilder(bool chat, string model, IReadOnlyList<GenerateRequest> choices, int choicesPerPrompt, bool echo = false)
{
    private readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly StringBuilder[] _texts = choices.Select(_ => new StringBuilder()).ToArray();
    private readonly GenerateFinal?[] _finals = new GenerateFinal?[choices.Count];
    private readonly bool[] _started = new bool[choices.Count];

    /// <summary>OpenAI's finish reason for the generator's.</summary>
    public static string FinishReason(string generatorReason) => generatorReason == "length" ? "length" : "stop";

    /// <summary>Records a message; returns the stream chunk it becomes (null when it adds nothing).</summary>
    public object? Add(ChoiceEvent message)
    {
        var index = message.Index;
        var first = !_started[index];
        _started[index] = true;
        var text = (first && echo ? choices[index].Prompt : "") + (message.Response.Chunk?.Text ?? "");
        _texts[index].Append(text);
        if (message.Response.Final is { } final)
        {
            _finals[index] = final;
            return Chunk(index, text, FinishReason(final.FinishReason), first);
        }
        return text.Length > 0 || (first && chat) ? Chunk(index, text, null, first) : null;
    }

    public UsageResponse Usage()
    {
        var finals = _finals.Select((f, i) => f ?? throw new InvalidOperationException($"choice {i} has no final message")).ToArray();
        // A prompt is read once however many choices it has.
        var prompt = finals.Where((_, i) => i % choicesPerPrompt == 0).Sum(f => f.Usage.PromptTokens);
        var completion = finals.Sum(f => f.Usage.CompletionTokens);
        return new UsageResponse(prompt, completion, prompt + completion);
    }

    public object UsageChunk() => chat
        ? new ChatCompletionResponse(_id, "chat.completion.chunk", _created, model, model, [], Usage())
        : new CompletionResponse(_id, "text_completion", _created, model, model, [], Usage());

    public object Response()
    {
        var usage = Usage();
        return chat
            ? new ChatCompletionResponse(_id, "chat.completion", _created, model, model,
                _texts.Select((t, i) => new ChatChoice(i, new ChatMessageResponse("assistant", t.ToString()), null, null, FinishReason(_finals[i]!.FinishReason))).ToArray(),
                usage)
            : new CompletionResponse(_id, "text_completion", _created, model, model,
                _texts.Select((t, i) => new CompletionChoice(i, t.ToString(), null, FinishReason(_finals[i]!.FinishReason))).ToArray(),
                usage);
    }

    private object Chunk(int index, string text, string? finishReason, bool first) => chat
        ? new ChatCompletionResponse(_id, "chat.completion.chunk", _created, model, model,
            [new ChatChoice(index, null, new ChatMessageResponse(first ? "assistant" : null, text.Length > 0 || first ? text : null), null, finishReason)], null)
        : new CompletionResponse(_id, "text_completion", _created, model, model, [new CompletionChoice(index, text, null, finishReason)], null);
}
