using TorchSharp;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// Tensor-and-number operations that keep their <see cref="Scalar"/> alive until the native op
/// returns. TorchSharp frees a Scalar in its finalizer, and the one it makes from a number
/// (<c>tensor * 0.5</c>, <c>leaky_relu(x, 0.2)</c>) is unreachable once its handle is read, so a
/// garbage collection started by another thread can free it while the op still reads it: c10's
/// Scalar::toFloat then fails with "Expected false to be true" and the training run with it.
/// TorchSharp also makes one behind <c>a + b</c> (<c>add(b, alpha: 1)</c>): <see cref="Plus(Tensor, Tensor)"/>
/// passes a Scalar 1 that lives as long as the process. Training, evaluation and sampling loops use
/// these instead of the implicit conversions.
/// </summary>
public static class HeldScalars
{
    /// <summary>Held by a static field, so never finalized: the alpha of every addition.</summary>
    internal static readonly Scalar One = 1.ToScalar();

    public static Tensor Times(this Tensor tensor, double factor) => Held(factor.ToScalar(), tensor.mul);

    public static Tensor Over(this Tensor tensor, double divisor) => Held(divisor.ToScalar(), s => tensor.div(s));

    public static Tensor Plus(this Tensor tensor, double value) => Held(value.ToScalar(), s => tensor.add(s, One));

    public static Tensor Plus(this Tensor tensor, Tensor other) => tensor.add(other, One);

    public static Tensor Minus(this Tensor tensor, double value) => Held(value.ToScalar(), tensor.sub);

    /// <summary>value - tensor.</summary>
    public static Tensor Subtracted(this Tensor tensor, double value) => tensor.neg().Plus(value);

    public static Tensor Squared(this Tensor tensor) => Held(2.ToScalar(), tensor.pow);

    public static Tensor LessThan(this Tensor tensor, double value) => Held(value.ToScalar(), tensor.lt);

    public static Tensor AtLeast(this Tensor tensor, double value) => Held(value.ToScalar(), tensor.ge);

    public static Tensor EqualTo(this Tensor tensor, long value) => Held(value.ToScalar(), tensor.eq);

    public static Tensor NotEqualTo(this Tensor tensor, long value) => Held(value.ToScalar(), tensor.ne);

    public static Tensor ClampMin(this Tensor tensor, double minimum) => Held(minimum.ToScalar(), tensor.clamp_min);

    public static Tensor MaskedFill(this Tensor tensor, Tensor mask, double value) => Held(value.ToScalar(), s => tensor.masked_fill(mask, s));

    public static Tensor MaskedFill(this Tensor tensor, Tensor mask, long value) => Held(value.ToScalar(), s => tensor.masked_fill(mask, s));

    /// <summary>In place, as index_fill_.</summary>
    public static Tensor IndexFill(this Tensor tensor, long dimension, Tensor index, double value) =>
        Held(value.ToScalar(), s => tensor.index_fill_(dimension, index, s));

    public static Tensor LeakyRelu(this Tensor tensor, double negativeSlope) => Held(negativeSlope.ToScalar(), tensor.leaky_relu);

    public static Tensor Full(long count, long value, ScalarType type) => Held(value.ToScalar(), s => full(count, s, type));

    /// <summary>Runs <paramref name="operation"/> and only then frees <paramref name="scalar"/>.</summary>
    private static Tensor Held(Scalar scalar, Func<Scalar, Tensor> operation)
    {
        using (scalar)
        {
            return operation(scalar);
        }
    }
}
