using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

public sealed class AdamTests
{
    [Fact]
    public void Each_step_gives_what_TorchSharps_Adam_gives_to_the_bit()
    {
        using var ours = Network();
        using var theirs = Network();
        using var oursOptimizer = new Adam(ours.parameters(), 3e-3, beta1: 0.5, beta2: 0.9);
        using var theirsOptimizer = optim.Adam(theirs.parameters(), lr: 3e-3, beta1: 0.5, beta2: 0.9);
        for (var step = 0; step < 30; step++)
        {
            if (step == 15)
            {
                // The VAE trainer changes the learning rate between steps.
                oursOptimizer.ParamGroups.Single().LearningRate = theirsOptimizer.ParamGroups.Single().LearningRate = 1e-3;
            }
            Step(ours, oursOptimizer, step);
            Step(theirs, theirsOptimizer, step);
            Assert.Equal(Weights(theirs), Weights(ours));
        }
    }

    [Fact]
    public void A_state_saved_by_TorchSharps_Adam_resumes_in_ours_as_if_never_stopped()
    {
        // Checkpoints written before this optimizer existed resume under it.
        var directory = Directory.CreateTempSubdirectory("llmmesh-adam-");
        try
        {
            var file = Path.Combine(directory.FullName, "optimizer.pt");
            using var straight = Network();
            using var straightOptimizer = optim.Adam(straight.parameters(), lr: 3e-3);
            using var resumed = Network();
            using (var before = optim.Adam(resumed.parameters(), lr: 3e-3))
            {
                for (var step = 0; step < 10; step++)
                {
                    Step(resumed, before, step);
                }
                before.save_state_dict(file);
            }
            using var after = new Adam(resumed.parameters(), 3e-3);
            after.load_state_dict(file);
            for (var step = 0; step < 20; step++)
            {
                Step(straight, straightOptimizer, step);
                if (step >= 10)
                {
                    Step(resumed, after, step);
                }
            }
            Assert.Equal(Weights(straight), Weights(resumed));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static Sequential Network()
    {
        using var random = new Generator(11, CPU);
        var network = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1));
        using var noGrad = no_grad();
        foreach (var parameter in network.parameters())
        {
            parameter.uniform_(-0.5, 0.5, random);
        }
        return network;
    }

    private static void Step(Sequential network, OptimizerHelper optimizer, int step)
    {
        using var scope = NewDisposeScope();
        using var random = new Generator(100 + (ulong)step, CPU);
        var input = randn([16, 6], generator: random);
        var loss = network.call(input).Squared().mean();
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    private static float[] Weights(Sequential network) => [.. network.parameters().SelectMany(p => p.data<float>().ToArray())];
}
