using TorchSharp;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// Tensor-and-number operations that keep their <see cref="Scalar"/> alive until the native op
/// returns. TorchSharp frees a Scalar in its finalizer, and the one it makes from a number
/// (<c>tensor * 0.5</c>, <c>leaky_relu(x, 0.2)</c>) is unreachable once its handle is read, so a
/// garbage collection started by another thread can free it while the op still reads it: c10's
/// Scalar::toFloat then fails with "Expected false to be true" and the training run with it.
/// Training, evaluation and sampling loops use these instead of the implicit conversions.
/// </summary>
public static class HeldScalars
{
    public static Tensor Times(this Tensor tensor, double factor)
    {
        using var scalar = factor.ToScalar();
        return tensor.mul(scalar);
    }

    public static Tensor Over(this Tensor tensor, double divisor)
    {
        using var scalar = divisor.ToScalar();
        return tensor.div(scalar);
    }

    public static Tensor Plus(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.add(scalar);
    }

    public static Tensor Minus(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.sub(scalar);
    }

    /// <summary>value - tensor.</summary>
    public static Tensor Subtracted(this Tensor tensor, double value) => tensor.neg().Plus(value);

    public static Tensor Squared(this Tensor tensor)
    {
        using var two = 2.ToScalar();
        return tensor.pow(two);
    }

    public static Tensor LessThan(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.lt(scalar);
    }

    public static Tensor AtLeast(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.ge(scalar);
    }

    public static Tensor EqualTo(this Tensor tensor, long value)
    {
        using var scalar = value.ToScalar();
        return tensor.eq(scalar);
    }

    public static Tensor NotEqualTo(this Tensor tensor, long value)
    {
        using var scalar = value.ToScalar();
        return tensor.ne(scalar);
    }

    public static Tensor ClampMin(this Tensor tensor, double minimum)
    {
        using var scalar = minimum.ToScalar();
        return tensor.clamp_min(scalar);
    }

    public static Tensor MaskedFill(this Tensor tensor, Tensor mask, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.masked_fill(mask, scalar);
    }

    public static Tensor MaskedFill(this Tensor tensor, Tensor mask, long value)
    {
        using var scalar = value.ToScalar();
        return tensor.masked_fill(mask, scalar);
    }

    /// <summary>In place, as index_fill_.</summary>
    public static Tensor IndexFill(this Tensor tensor, long dimension, Tensor index, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.index_fill_(dimension, index, scalar);
    }

    public static Tensor LeakyRelu(this Tensor tensor, double negativeSlope)
    {
        using var scalar = negativeSlope.ToScalar();
        return tensor.leaky_relu(scalar);
    }

    public static Tensor Full(long count, long value, ScalarType type)
    {
        using var scalar = value.ToScalar();
        return full(count, scalar, type);
    }
}
