using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// TorchSharp's Adam, the same update to the bit, with every number it hands a native op held until
/// the op returns. TorchSharp 0.107's own step makes Scalars from numbers on the fly
/// (<c>denom.add_(eps)</c>, <c>mul_(beta1)</c>), which a garbage collection on another thread can
/// free mid-op (see <see cref="HeldScalars"/>). Named Adam because the optimizer's type name is
/// written into its checkpoints, so states saved by either class load into the other.
/// </summary>
public sealed class Adam(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    : TorchSharp.Modules.Adam(parameters, learningRate, beta1, beta2, epsilon)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        var beta1 = options.beta1!.Value;
        var beta2 = options.beta2!.Value;
        var learningRate = options.LearningRate!.Value;
        using var keep1 = beta1.ToScalar();
        using var keep2 = beta2.ToScalar();
        using var take1 = (1 - beta1).ToScalar();
        using var take2 = (1 - beta2).ToScalar();
        using var epsilon = options.eps!.Value.ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var gradient = parameter.grad;
            if (gradient is null)
            {
                continue;
            }
            var state = (State)_state[parameter.Handle];
            state.step += 1;
            using var biasCorrection2Root = Math.Sqrt(1 - Math.Pow(beta2, state.step)).ToScalar();
            using var stepSize = (0.0 - learningRate / (1 - Math.Pow(beta1, state.step))).ToScalar();
            state.exp_avg.mul_(keep1).add_(gradient, alpha: take1);
            state.exp_avg_sq.mul_(keep2).addcmul_(gradient, gradient.conj(), value: take2);
            var denominator = state.exp_avg_sq.sqrt().div_(biasCorrection2Root).add_(epsilon, HeldScalars.One);
            parameter.addcdiv_(state.exp_avg, denominator, value: stepSize);
        }
    }, closure);
}
