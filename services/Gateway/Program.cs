using LlmMesh.Gateway.Api;
using LlmMesh.Gateway.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddGrpc();

var app = builder.Build();

app.UsePlayground();
app.MapDefaultEndpoints();
app.MapOpenAiEndpoints();
app.MapMeshJsonEndpoints();

app.Run();

public partial class Program;
