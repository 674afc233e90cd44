namespace LlmMesh.AppHost.Messaging;

/// <summary>
/// A RabbitMQ broker run from the machine's rabbitmq-server package as an executable resource,
/// for machines without a container runtime.
/// </summary>
public sealed class PrivateRabbitMqResource(
    string name, string command, string workingDirectory, ParameterResource userName, ParameterResource password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string AmqpEndpointName = "amqp";

    public ParameterResource UserName { get; } = userName;

    public ParameterResource Password { get; } = password;

    public EndpointReference AmqpEndpoint => new(this, AmqpEndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"amqp://{UserName}:{Password}@{AmqpEndpoint.Property(EndpointProperty.Host)}:{AmqpEndpoint.Property(EndpointProperty.Port)}");
}
