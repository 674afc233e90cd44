using LlmMesh.Generator.Extensions;
using LlmMesh.Generator.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddGrpc();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<GeneratorGrpcService>();

app.Run();

public partial class Program;
