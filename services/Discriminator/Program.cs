using LlmMesh.Discriminator.Extensions;
using LlmMesh.Discriminator.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddGrpc();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<DiscriminatorGrpcService>();

app.Run();

public partial class Program;
