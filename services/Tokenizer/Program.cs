using LlmMesh.Tokenizer.Extensions;
using LlmMesh.Tokenizer.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddGrpc();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<TokenizerGrpcService>();

app.Run();

public partial class Program;
