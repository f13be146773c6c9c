// N-API binding: a thin shell around rnn_runtime.h. The TypeScript facade validates every
// argument and owns every buffer; this file re-checks buffer lengths, calls the C API and hands
// the status code back, so errors become LstmError in one place (lib/backends/status.ts).
#include <napi.h>

#include <memory>
#include <mutex>

#include "rnn_runtime.h"

namespace {

// A layer shared by its JS handle and any async call still running, so dispose() while a
// forwardAsync is in flight frees the layer only after that call ends.
struct SharedLayer {
  rnn_layer* layer = nullptr;
  std::mutex busy;  // rnn_forward is not reentrant for one layer
  ~SharedLayer() { rnn_destroy(layer); }
};

constexpr int32_t kStatusDisposed = -1;
constexpr int32_t kStatusBadBuffer = -2;

// Float32Array/Uint8Array/Int32Array argument, or null when absent; checks the element count.
template <typename T>
bool typed_arg(const Napi::Value& value, size_t need, bool optional, T** out) {
  *out = nullptr;
  if (value.IsNull() || value.IsUndefined()) return optional;
  if (!value.IsTypedArray()) return false;
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  const napi_typedarray_type want = std::is_same<T, float>::value     ? napi_float32_array
                                    : std::is_same<T, int32_t>::value ? napi_int32_array
                                                                      : napi_uint8_array;
  if (array.TypedArrayType() != want || array.ElementLength() < need) return false;
  *out = reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
  return true;
}

rnn_activation activation_arg(const Napi::Object& config, const char* key) {
  Napi::Array a = config.Get(key).As<Napi::Array>();
  return rnn_activation{a.Get(0u).As<Napi::Number>().Int32Value(), a.Get(1u).As<Napi::Number>().FloatValue(),
                         a.Get(2u).As<Napi::Number>().FloatValue()};
}

// The buffers of one forward call, checked against the sizes they must have.
struct ForwardCall {
  int32_t batch = 0, steps = 0, flags = 0;
  const float* input = nullptr;
  float *h = nullptr, *c = nullptr, *output = nullptr, *trace = nullptr;
  const uint8_t* mask = nullptr;
  const int32_t* lengths = nullptr;

  // (batch, steps, flags, input, h, c, output, mask, sequenceLengths, trace)
  bool parse(const Napi::CallbackInfo& info, int32_t input_size, int32_t units, bool has_cell, int32_t trace_count) {
    if (info.Length() < 10) return false;
    batch = info[0].As<Napi::Number>().Int32Value();
    steps = info[1].As<Napi::Number>().Int32Value();
    flags = info[2].As<Napi::Number>().Int32Value();
    if (batch < 1 || steps < 1) return false;
    const size_t B = batch, T = steps, I = input_size, U = units;
    const size_t out_len = (flags & RNN_RETURN_SEQUENCES) ? B * T * U : B * U;
    float* in = nullptr;
    uint8_t* m = nullptr;
    int32_t* len = nullptr;
    bool ok = typed_arg(info[3], B * T * I, false, &in) && typed_arg(info[4], B * U, false, &h) &&
              typed_arg(info[5], B * U, !has_cell, &c) && typed_arg(info[6], out_len, true, &output) &&
              typed_arg(info[7], B * T, true, &m) && typed_arg(info[8], B, true, &len) &&
              typed_arg(info[9], trace_count * B * T * U, true, &trace);
    input = in;
    mask = m;
    lengths = len;
    return ok;
  }

  int32_t run(rnn_layer* layer) const {
    return rnn_forward(layer, batch, steps, flags, input, h, c, output, mask, lengths, trace);
  }
};

class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, std::shared_ptr<SharedLayer> layer, const ForwardCall& call,
                const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), layer_(std::move(layer)), call_(call) {
    // Keep every buffer alive until the call ends.
    Napi::Array buffers = Napi::Array::New(env, 7);
    for (uint32_t i = 0; i < 7; ++i) buffers.Set(i, info[3 + i]);
    keep_ = Napi::Persistent(static_cast<Napi::Object>(buffers));
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::lock_guard<std::mutex> lock(layer_->busy);
    status_ = call_.run(layer_->layer);
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), status_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<SharedLayer> layer_;
  ForwardCall call_;
  Napi::ObjectReference keep_;
  int32_t status_ = 0;
};

class RnnHandle : public Napi::ObjectWrap<RnnHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RnnHandle",
                       {InstanceMethod("forward", &RnnHandle::Forward),
                        InstanceMethod("forwardAsync", &RnnHandle::ForwardAsync),
                        InstanceMethod("bindStream", &RnnHandle::BindStream),
                        InstanceMethod("step", &RnnHandle::Step),
                        InstanceMethod("isa", &RnnHandle::Isa),
                        InstanceMethod("dispose", &RnnHandle::Dispose)});
  }

  // new RnnHandle(config, kernel, recurrentKernel, bias, recurrentBias, peepholes) (absent
  // tensors are null); check status().
  explicit RnnHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RnnHandle>(info) {
    Napi::Object cfg = info[0].As<Napi::Object>();
    rnn_config config{};
    config.cell = cfg.Get("cell").As<Napi::Number>().Int32Value();
    config.reset_after = cfg.Get("resetAfter").ToBoolean() ? 1 : 0;
    config.input_size = cfg.Get("inputSize").As<Napi::Number>().Int32Value();
    config.units = cfg.Get("units").As<Napi::Number>().Int32Value();
    config.activation = activation_arg(cfg, "activation");
    config.cell_activation = activation_arg(cfg, "cellActivation");
    config.recurrent_activation = activation_arg(cfg, "recurrentActivation");
    config.clip = cfg.Get("clip").As<Napi::Number>().FloatValue();
    config.input_forget = cfg.Get("inputForget").ToBoolean() ? 1 : 0;
    config.isa = cfg.Get("isa").As<Napi::Number>().Int32Value();
    config.threads = cfg.Get("threads").As<Napi::Number>().Int32Value();
    config.weight_precision = cfg.Get("weightPrecision").As<Napi::Number>().Int32Value();
    if (config.input_size < 1 || config.units < 1 || config.threads < 1) {
      status_ = RNN_ERR_CONFIG;
      return;
    }
    const size_t I = config.input_size, U = config.units, G = config.cell == RNN_CELL_LSTM ? 4 : 3;
    float *kernel, *recurrent, *bias, *recurrent_bias, *peep;
    if (!typed_arg(info[1], I * G * U, false, &kernel) || !typed_arg(info[2], U * G * U, false, &recurrent) ||
        !typed_arg(info[3], G * U, true, &bias) || !typed_arg(info[4], G * U, true, &recurrent_bias) ||
        !typed_arg(info[5], 3 * U, true, &peep)) {
      status_ = kStatusBadBuffer;
      return;
    }
    rnn_layer* layer = nullptr;
    status_ = rnn_create(&config, kernel, recurrent, bias, recurrent_bias, peep, &layer);
    if (status_ == RNN_OK) {
      shared_ = std::make_shared<SharedLayer>();
      shared_->layer = layer;
      input_size_ = config.input_size;
      units_ = config.units;
      has_cell_ = config.cell == RNN_CELL_LSTM;
      trace_count_ = rnn_trace_count(layer);
    }
  }

  int32_t status() const { return status_; }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    if (!shared_) return Napi::Number::New(info.Env(), kStatusDisposed);
    ForwardCall call;
    if (!call.parse(info, input_size_, units_, has_cell_, trace_count_)) return Napi::Number::New(info.Env(), kStatusBadBuffer);
    std::lock_guard<std::mutex> lock(shared_->busy);
    return Napi::Number::New(info.Env(), call.run(shared_->layer));
  }

  // Same arguments as forward; runs on the libuv thread pool and resolves with the status.
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ForwardCall call;
    int32_t early = !shared_ ? kStatusDisposed : call.parse(info, input_size_, units_, has_cell_, trace_count_) ? 0 : kStatusBadBuffer;
    if (early) {
      auto done = Napi::Promise::Deferred::New(env);
      done.Resolve(Napi::Number::New(env, early));
      return done.Promise();
    }
    auto* worker = new ForwardWorker(env, shared_, call, info);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  // bindStream(batch, x [B,I], h [B,U], c [B,U] or null): step() then reads x and updates h, c in place,
  // with no arguments to convert and nothing allocated per step.
  Napi::Value BindStream(const Napi::CallbackInfo& info) {
    if (!shared_) return Napi::Number::New(info.Env(), kStatusDisposed);
    const int32_t batch = info[0].As<Napi::Number>().Int32Value();
    float *x, *h, *c;
    if (batch < 1 || !typed_arg(info[1], (size_t)batch * input_size_, false, &x) ||
        !typed_arg(info[2], (size_t)batch * units_, false, &h) ||
        !typed_arg(info[3], (size_t)batch * units_, !has_cell_, &c))
      return Napi::Number::New(info.Env(), kStatusBadBuffer);
    Napi::Array buffers = Napi::Array::New(info.Env(), 3);
    for (uint32_t i = 0; i < 3; ++i) buffers.Set(i, info[1 + i]);
    stream_keep_ = Napi::Persistent(static_cast<Napi::Object>(buffers));
    stream_batch_ = batch;
    stream_x_ = x;
    stream_h_ = h;
    stream_c_ = c;
    return Napi::Number::New(info.Env(), RNN_OK);
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    if (!shared_) return Napi::Number::New(info.Env(), kStatusDisposed);
    if (!stream_x_) return Napi::Number::New(info.Env(), kStatusBadBuffer);
    std::lock_guard<std::mutex> lock(shared_->busy);
    return Napi::Number::New(
        info.Env(), rnn_forward(shared_->layer, stream_batch_, 1, 0, stream_x_, stream_h_, stream_c_, nullptr,
                                 nullptr, nullptr, nullptr));
  }

  Napi::Value Isa(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), shared_ ? rnn_layer_isa(shared_->layer) : "");
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    shared_.reset();
    stream_keep_.Reset();
    stream_x_ = nullptr;
    return info.Env().Undefined();
  }

  std::shared_ptr<SharedLayer> shared_;
  int32_t status_ = RNN_OK;
  int32_t input_size_ = 0, units_ = 0, trace_count_ = 0;
  bool has_cell_ = false;
  Napi::ObjectReference stream_keep_;
  int32_t stream_batch_ = 0;
  float *stream_x_ = nullptr, *stream_h_ = nullptr, *stream_c_ = nullptr;
};

Napi::Value CreateRnn(const Napi::CallbackInfo& info) {
  // Construct through JS so ObjectWrap owns the handle, then report the status beside it.
  Napi::Env env = info.Env();
  Napi::Function ctor = env.GetInstanceData<Napi::FunctionReference>()->Value();
  Napi::Object handle = ctor.New({info[0], info[1], info[2], info[3], info[4], info[5]});
  Napi::Object result = Napi::Object::New(env);
  result.Set("status", RnnHandle::Unwrap(handle)->status());
  result.Set("handle", handle);
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = RnnHandle::Define(env);
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(ctor)));
  exports.Set("createRnn", Napi::Function::New(env, CreateRnn));
  exports.Set("isaAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Boolean::New(info.Env(), rnn_isa_available(info[0].As<Napi::Number>().Int32Value()));
              }));
  exports.Set("precisionAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Boolean::New(info.Env(), rnn_precision_available(info[0].As<Napi::Number>().Int32Value(),
                                                                              info[1].As<Napi::Number>().Int32Value()));
              }));
  exports.Set("isaBest", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Number::New(info.Env(), rnn_isa_best());
              }));
  exports.Set("isaCalls", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Number::New(info.Env(), rnn_isa_calls(info[0].As<Napi::Number>().Int32Value()));
              }));
  exports.Set("threadStats", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                uint32_t stats[3];
                rnn_threads_stats(stats);
                Napi::Object out = Napi::Object::New(info.Env());
                out.Set("split", stats[0]);
                out.Set("late", stats[1]);
                out.Set("alone", stats[2]);
                return out;
              }));
  exports.Set("firstNonFinite", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                // Anything but a Float32Array answers -2, never a read of the wrong memory.
                float* data;
                if (!typed_arg(info[0], 0, false, &data)) return Napi::Number::New(info.Env(), -2);
                const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
                return Napi::Number::New(info.Env(), (double)rnn_first_nonfinite(data, (int64_t)n));
              }));
  return exports;
}

}  // namespace

NODE_API_MODULE(lstm_runtime, Init)
