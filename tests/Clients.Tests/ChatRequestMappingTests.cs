using System.Text.Json;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using Microsoft.Extensions.AI;

namespace LlmMesh.Clients.Tests;

public sealed class ChatRequestMappingTests
{
    [Fact]
    public void Every_standard_option_maps_to_its_Generate_field()
    {
        var request = ChatRequestMapping.ToGenerateRequest([new ChatMessage(ChatRole.User, "a dog")], new ChatOptions
        {
            Temperature = 0.75f,
            TopP = 0.875f,
            TopK = 40,
            MaxOutputTokens = 12,
            Seed = 7,
            StopSequences = [".", " and"],
        });

        Assert.Equal("a dog", request.Prompt);
        Assert.Equal(0.75, request.Temperature);
        Assert.Equal(0.875, request.TopP);
        Assert.Equal(40, request.TopK);
        Assert.Equal(12, request.MaxTokens);
        Assert.Equal(7ul, request.Seed);
        Assert.Equal([".", " and"], request.Stop);
    }

    [Fact]
    public void Unset_options_stay_unset_so_the_server_defaults_apply()
    {
        var request = ChatRequestMapping.ToGenerateRequest([new ChatMessage(ChatRole.User, "x")], new ChatOptions());

        Assert.False(request.HasTemperature);
        Assert.False(request.HasTopP);
        Assert.False(request.HasTopK);
        Assert.False(request.HasMaxTokens);
        Assert.False(request.HasSeed);
        Assert.Empty(request.Stop);
    }

    [Fact]
    public void The_prompt_is_the_last_user_message_and_no_user_message_means_unconditioned()
    {
        var conversation = new[]
        {
            new ChatMessage(ChatRole.System, "be brief"),
            new ChatMessage(ChatRole.User, "first"),
            new ChatMessage(ChatRole.Assistant, "answer"),
            new ChatMessage(ChatRole.User, "second"),
        };
        Assert.Equal("second", ChatRequestMapping.ToGenerateRequest(conversation, null).Prompt);
        Assert.Equal("", ChatRequestMapping.ToGenerateRequest([new ChatMessage(ChatRole.System, "be brief")], null).Prompt);
    }

    [Fact]
    public void The_mesh_controls_come_from_additional_properties_as_values_or_json()
    {
        var options = new ChatOptions
        {
            AdditionalProperties = new()
            {
                ["min_p"] = 0.05,
                ["repetition_penalty"] = JsonSerializer.Deserialize<JsonElement>("1.2"),
                ["variation"] = "0.5",
                ["best_of"] = 4,
                ["ignore_eos"] = true,
                ["latent_source"] = "Prior",
            },
        };

        var request = ChatRequestMapping.ToGenerateRequest([], options);

        Assert.Equal(0.05, request.MinP);
        Assert.Equal(1.2, request.RepetitionPenalty);
        Assert.Equal(0.5, request.Variation);
        Assert.Equal(4, request.BestOf);
        Assert.True(request.IgnoreEos);
        Assert.Equal(LatentSource.Prior, request.LatentSource);
    }

    [Fact]
    public void What_the_model_cannot_do_is_refused_with_the_reason()
    {
        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "one")] };
        Assert.Contains("tools", Assert.Throws<NotSupportedException>(() => ChatRequestMapping.ToGenerateRequest([], tools)).Message);
        Assert.Contains("Seed", Assert.Throws<ArgumentOutOfRangeException>(() => ChatRequestMapping.ToGenerateRequest([], new ChatOptions { Seed = -1 })).Message);
        var badSource = new ChatOptions { AdditionalProperties = new() { ["latent_source"] = "moon" } };
        Assert.Contains("latent_source", Assert.Throws<ArgumentException>(() => ChatRequestMapping.ToGenerateRequest([], badSource)).Message);
        var badNumber = new ChatOptions { AdditionalProperties = new() { ["min_p"] = "lots" } };
        Assert.Contains("min_p", Assert.Throws<ArgumentException>(() => ChatRequestMapping.ToGenerateRequest([], badNumber)).Message);
    }

    [Theory]
    [InlineData("eos", "stop")]
    [InlineData("stop", "stop")]
    [InlineData("length", "length")]
    [InlineData("cancelled", null)]
    public void Finish_reasons_map_to_the_abstraction(string generator, string? expected) =>
        Assert.Equal(expected, ChatRequestMapping.ToFinishReason(generator)?.Value);
}
