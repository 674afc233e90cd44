using System.Runtime.InteropServices;
using Google.Protobuf;
using LlmMesh.Onnx.Proto;

namespace LlmMesh.Onnx;

/// <summary>
/// Builds an ONNX model (IR 8, opset 17) node by node: weights as initializers, float or int64
/// inputs and outputs whose first dimension is the symbolic batch size.
/// </summary>
public sealed class OnnxGraph(string name)
{
    public const long IrVersion = 8;
    public const long Opset = 17;
    public const string Batch = "batch";
    public const string Sequence = "sequence";

    private readonly GraphProto _graph = new() { Name = name };
    private int _nodes;

    public OnnxGraph Initializer(string tensorName, float[] values, params long[] dims)
    {
        _graph.Initializer.Add(Tensor(tensorName, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims));
        return this;
    }

    public OnnxGraph Initializer(string tensorName, long[] values, params long[] dims)
    {
        _graph.Initializer.Add(Tensor(tensorName, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), dims));
        return this;
    }

    /// <summary>A graph input [batch, width...]; an empty <paramref name="width"/> means [batch].</summary>
    public OnnxGraph Input(string valueName, TensorProto.Types.DataType type, params long[] width)
    {
        _graph.Input.Add(Value(valueName, type, width));
        return this;
    }

    /// <summary>A graph input [batch, sequence] (right-padded token ids, for example).</summary>
    public OnnxGraph SequenceInput(string valueName, TensorProto.Types.DataType type)
    {
        var input = Value(valueName, type, []);
        input.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = Sequence });
        _graph.Input.Add(input);
        return this;
    }

    public OnnxGraph Output(string valueName, params long[] width)
    {
        _graph.Output.Add(Value(valueName, TensorProto.Types.DataType.Float, width));
        return this;
    }

    public OnnxGraph Node(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_nodes++}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return this;
    }

    public static AttributeProto Int(string attributeName, long value) =>
        new() { Name = attributeName, I = value, Type = AttributeProto.Types.AttributeType.Int };

    public static AttributeProto Ints(string attributeName, params long[] values) =>
        new() { Name = attributeName, Ints = { values }, Type = AttributeProto.Types.AttributeType.Ints };

    public static AttributeProto Float(string attributeName, float value) =>
        new() { Name = attributeName, F = value, Type = AttributeProto.Types.AttributeType.Float };

    public static AttributeProto String(string attributeName, string value) =>
        new() { Name = attributeName, S = ByteString.CopyFromUtf8(value), Type = AttributeProto.Types.AttributeType.String };

    public byte[] ToBytes(string producer) => new ModelProto
    {
        IrVersion = IrVersion,
        ProducerName = producer,
        Graph = _graph,
        OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
    }.ToByteArray();

    private static TensorProto Tensor(string tensorName, TensorProto.Types.DataType type, ReadOnlySpan<byte> data, long[] dims)
    {
        var tensor = new TensorProto { Name = tensorName, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static ValueInfoProto Value(string valueName, TensorProto.Types.DataType type, long[] width)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = Batch });
        foreach (var size in width)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = size });
        }
        return new ValueInfoProto
        {
            Name = valueName,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
