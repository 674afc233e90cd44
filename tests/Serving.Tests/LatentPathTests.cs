using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;
using LlmMesh.ModelStore;

namespace LlmMesh.Serving.Tests;

public sealed class LatentPathTests
{
    private static double Norm(float[] code) => Math.Sqrt(code.Sum(v => (double)v * v));

    [Fact]
    public void The_ends_are_the_given_codes_and_points_are_evenly_spaced_in_t()
    {
        float[] a = [1, 2, 3];
        float[] b = [-3, 0.5f, 2];
        foreach (var method in new[] { InterpolationMethod.Slerp, InterpolationMethod.Linear })
        {
            var path = LatentPath.Points(a, b, 5, method);
            Assert.Equal([0, 0.25, 0.5, 0.75, 1], path.Select(p => p.T));
            Assert.Equal(a, path[0].Code);
            Assert.Equal(b, path[^1].Code);
        }
        var linear = LatentPath.Points(a, b, 3, InterpolationMethod.Linear);
        Assert.Equal([-1f, 1.25f, 2.5f], linear[1].Code);
    }

    [Fact]
    public void Slerp_keeps_the_norm_of_equal_norm_ends_where_the_line_shrinks_it()
    {
        float[] a = [3, 0, 0, 0];
        float[] b = [0, 3, 0, 0];

        var slerp = LatentPath.Points(a, b, 9, InterpolationMethod.Slerp);
        var linear = LatentPath.Points(a, b, 9, InterpolationMethod.Linear);

        Assert.All(slerp, p => Assert.Equal(3, Norm(p.Code), 5));
        Assert.Equal(3 / Math.Sqrt(2), Norm(linear[4].Code), 5);
        // Parallel ends: the great circle degenerates to the line, without dividing by zero.
        Assert.Equal([2f, 0, 0, 0], LatentPath.Points(a, [1, 0, 0, 0], 3, InterpolationMethod.Slerp)[1].Code);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65)]
    public void Steps_outside_two_to_sixty_four_are_refused(int steps) =>
        Assert.Contains("steps must be between 2 and 64", Assert.Throws<ArgumentException>(() => LatentPath.Points([1f], [2f], steps, InterpolationMethod.Slerp)).Message);

    public static TheoryData<InterpolateRequest, string> BadRequests => new()
    {
        { new InterpolateRequest(), "set start and end" },
        { new InterpolateRequest { Start = "a dog" }, "set start and end" },
        { new InterpolateRequest { Start = "a dog", End = "a cat", StartLatent = { 1f }, EndLatent = { 1f } }, "set start and end" },
        { new InterpolateRequest { StartLatent = { 1f, float.PositiveInfinity }, EndLatent = { 1f, 2f } }, "start_latent[1]" },
        { new InterpolateRequest { Start = "a dog", End = "a cat", Steps = 100 }, "steps must be between 2 and 64" },
        { new InterpolateRequest { Start = "a dog", End = "a cat", Method = "cubic" }, "method must be" },
        { new InterpolateRequest { Start = "a dog", End = "a cat", Temperature = -1 }, "temperature" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void A_bad_interpolation_names_its_field(InterpolateRequest request, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => Interpolation.From(request, new GeneratorOptions(), RecommendedSampling.Plain)).Message);

    [Fact]
    public void Points_decode_greedily_unless_a_temperature_is_set()
    {
        var greedy = Interpolation.From(new InterpolateRequest { Start = "a dog", End = "a cat" }, new GeneratorOptions(), RecommendedSampling.Plain);
        Assert.Equal((8, InterpolationMethod.Slerp, 0.0), (greedy.Steps, greedy.Method, greedy.Generation.Sampling.Temperature));
        var warm = Interpolation.From(new InterpolateRequest { Start = "a dog", End = "a cat", Temperature = 0.7, Method = "linear" }, new GeneratorOptions(), RecommendedSampling.Plain);
        Assert.Equal((InterpolationMethod.Linear, 0.7), (warm.Method, warm.Generation.Sampling.Temperature));
    }
}
