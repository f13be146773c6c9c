// N-API binding: a thin shell around rnn_runtime.h. The TypeScript facade validates every
// argument and owns every buffer; this file re-checks buffer lengths, calls the C API and hands
// the status code back, so errors become LstmError in one place (lib/backends/status.ts).
//
// The addon is context-aware: the main thread and every worker_threads Worker that loads it get
// their own instance data, and the helper threads of `threads > 1` are joined when the last of
// those environments is torn down (Node unloads the addon with a worker's environment). An async
// call runs on memory the binding owns, so a caller's buffer detached, transferred or shrunk
// while the call runs cannot be reached from the thread pool, and its completion never throws
// into an environment that is being torn down (worker.terminate() mid-call).
#include <napi.h>

#include <string.h>

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
// forwardAsync: a result buffer was detached or shrunk while the call ran (lib/backends/native.ts
// names it).
constexpr int32_t kStatusBufferGone = -3;

template <typename T>
constexpr napi_typedarray_type typed_array_kind() {
  return std::is_same<T, float>::value ? napi_float32_array : std::is_same<T, int32_t>::value ? napi_int32_array : napi_uint8_array;
}

// A typed array's elements as they are now: the data pointer from napi_get_typedarray_info, which
// is also right for arrays over a SharedArrayBuffer (Napi::TypedArray::ArrayBuffer() is not: it
// fails there, and the failure aborted the process); a detached array, or one past the end of a
// shrunk resizable buffer, has length 0. False when `value` is not a typed array of type T.
template <typename T>
bool typed_view(napi_env env, napi_value value, T** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr) != napi_ok) return false;
  if (type != typed_array_kind<T>()) return false;
  *data = static_cast<T*>(raw);
  return true;
}

// Float32Array/Uint8Array/Int32Array argument, or null when absent; checks the element count.
template <typename T>
bool typed_arg(const Napi::Value& value, size_t need, bool optional, T** out) {
  *out = nullptr;
  if (value.IsNull() || value.IsUndefined()) return optional;
  size_t length = 0;
  T* data = nullptr;
  if (!typed_view(value.Env(), value, &data, &length) || length < need || !data) return false;
  *out = data;
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
  // Elements each buffer has in this call (the C contract's sizes).
  size_t n_input = 0, n_state = 0, n_output = 0, n_mask = 0, n_lengths = 0, n_trace = 0;

  // (batch, steps, flags, input, h, c, output, mask, sequenceLengths, trace)
  bool parse(const Napi::CallbackInfo& info, int32_t input_size, int32_t units, bool has_cell, int32_t trace_count) {
    if (info.Length() < 10) return false;
    batch = info[0].As<Napi::Number>().Int32Value();
    steps = info[1].As<Napi::Number>().Int32Value();
    flags = info[2].As<Napi::Number>().Int32Value();
    if (batch < 1 || steps < 1) return false;
    const size_t B = batch, T = steps, I = input_size, U = units;
    n_input = B * T * I;
    n_state = B * U;
    n_output = (flags & RNN_RETURN_SEQUENCES) ? B * T * U : B * U;
    n_mask = B * T;
    n_lengths = B;
    n_trace = trace_count * B * T * U;
    float* in = nullptr;
    uint8_t* m = nullptr;
    int32_t* len = nullptr;
    bool ok = typed_arg(info[3], n_input, false, &in) && typed_arg(info[4], n_state, false, &h) &&
              typed_arg(info[5], n_state, !has_cell, &c) && typed_arg(info[6], n_output, true, &output) &&
              typed_arg(info[7], n_mask, true, &m) && typed_arg(info[8], n_lengths, true, &len) &&
              typed_arg(info[9], n_trace, true, &trace);
    input = in;
    mask = m;
    lengths = len;
    return ok;
  }

  int32_t run(rnn_layer* layer) const {
    return rnn_forward(layer, batch, steps, flags, input, h, c, output, mask, lengths, trace);
  }
};

// One forwardAsync call. The thread pool works on copies the binding owns: the inputs are copied
// in before the call is queued, and the results out on the JS thread once it is done, into the
// caller's arrays if they are still attached and long enough (else kStatusBufferGone, and none
// is written). Raw N-API, so that nothing on the completion path can throw: a worker being
// terminated completes its pending calls while JS can no longer run, and napi_throw then aborted.
class ForwardWork {
 public:
  // Queues the call and returns its promise; null when the environment cannot run JS any more
  // (a worker being terminated). A call that cannot be set up resolves with RNN_ERR_ALLOC.
  static napi_value Start(napi_env env, std::shared_ptr<SharedLayer> layer, const ForwardCall& call,
                          const Napi::CallbackInfo& info) {
    napi_deferred deferred;
    napi_value promise;
    if (napi_create_promise(env, &deferred, &promise) != napi_ok) return nullptr;
    std::unique_ptr<ForwardWork> work(new (std::nothrow) ForwardWork());
    if (!work) {
      napi_value status;
      if (napi_create_int32(env, RNN_ERR_ALLOC, &status) == napi_ok) napi_resolve_deferred(env, deferred, status);
      return promise;
    }
    work->env_ = env;
    work->deferred_ = deferred;
    if (!work->Prepare(env, std::move(layer), call, info)) {
      work->Settle(env, RNN_ERR_ALLOC);
      return promise;
    }
    napi_value name;
    if (napi_create_string_utf8(env, "lstm-runtime:forwardAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_create_async_work(env, nullptr, name, &ForwardWork::Execute, &ForwardWork::Complete, work.get(),
                               &work->work_) != napi_ok ||
        napi_queue_async_work(env, work->work_) != napi_ok) {
      work->Settle(env, RNN_ERR_ALLOC);
      return promise;
    }
    work.release();  // Complete deletes it
    return promise;
  }

  ~ForwardWork() {
    for (napi_ref& ref : targets_)
      if (ref) napi_delete_reference(env_, ref);
    if (work_) napi_delete_async_work(env_, work_);
  }

 private:
  static constexpr int kTargets = 4;  // h, c, output, trace

  // Copies the call's inputs and refers to the caller's result arrays.
  bool Prepare(napi_env env, std::shared_ptr<SharedLayer> layer, const ForwardCall& call, const Napi::CallbackInfo& info) {
    layer_ = std::move(layer);
    call_ = call;
    // Binding-owned copies (the kernel writes every element of the results).
    const float* none = nullptr;
    if (!own(&input_, call.input, call.n_input) || !own(&h_, call.h, call.n_state) ||
        (call.c && !own(&c_, call.c, call.n_state)) || (call.output && !own(&output_, none, call.n_output)) ||
        (call.trace && !own(&trace_, none, call.n_trace)) || (call.mask && !own(&mask_, call.mask, call.n_mask)) ||
        (call.lengths && !own(&lengths_, call.lengths, call.n_lengths)))
      return false;
    call_.input = input_.get();
    call_.h = h_.get();
    call_.c = c_.get();
    call_.output = output_.get();
    call_.trace = trace_.get();
    call_.mask = mask_.get();
    call_.lengths = lengths_.get();
    // The caller's result arrays, read again on completion.
    const int targets[kTargets] = {4, 5, 6, 9};
    for (int k = 0; k < kTargets; ++k) {
      napi_value value = info[targets[k]];
      napi_valuetype type;
      if (napi_typeof(env, value, &type) != napi_ok) return false;
      if (type == napi_object && napi_create_reference(env, value, 1, &targets_[k]) != napi_ok) return false;
    }
    return true;
  }

  template <typename T>
  bool own(std::unique_ptr<T[]>* dst, const T* src, size_t n) {
    dst->reset(src ? new (std::nothrow) T[n] : new (std::nothrow) T[n]());
    if (!*dst) return false;
    if (src) memcpy(dst->get(), src, n * sizeof(T));
    return true;
  }

  static void Execute(napi_env, void* data) {
    ForwardWork* work = static_cast<ForwardWork*>(data);
    std::lock_guard<std::mutex> lock(work->layer_->busy);
    work->status_ = work->call_.run(work->layer_->layer);
  }

  static void Complete(napi_env env, napi_status, void* data) {
    std::unique_ptr<ForwardWork> work(static_cast<ForwardWork*>(data));
    work->env_ = env;
    int32_t status = work->status_;
    if (status == RNN_OK) status = work->CopyOut(env);
    work->Settle(env, status);
  }

  // Writes the results into the caller's arrays: all of them, or none when one is gone.
  int32_t CopyOut(napi_env env) {
    const float* from[kTargets] = {h_.get(), c_.get(), output_.get(), trace_.get()};
    const size_t need[kTargets] = {call_.n_state, call_.n_state, call_.n_output, call_.n_trace};
    float* to[kTargets] = {};
    for (int k = 0; k < kTargets; ++k) {
      if (!targets_[k] || !from[k]) continue;
      napi_value value;
      size_t length = 0;
      if (napi_get_reference_value(env, targets_[k], &value) != napi_ok || !value ||
          !typed_view(env, value, &to[k], &length) || length < need[k] || !to[k])
        return kStatusBufferGone;
    }
    for (int k = 0; k < kTargets; ++k)
      if (to[k]) memcpy(to[k], from[k], need[k] * sizeof(float));
    return RNN_OK;
  }

  // Resolves the promise with `status`. In an environment being torn down this fails, and that
  // is all: nothing is waiting for the promise there.
  void Settle(napi_env env, int32_t status) {
    env_ = env;
    napi_value value;
    if (napi_create_int32(env, status, &value) == napi_ok) napi_resolve_deferred(env, deferred_, value);
  }

  napi_env env_ = nullptr;
  napi_async_work work_ = nullptr;
  napi_deferred deferred_ = nullptr;
  napi_ref targets_[kTargets] = {};
  std::shared_ptr<SharedLayer> layer_;
  ForwardCall call_;
  std::unique_ptr<float[]> input_, h_, c_, output_, trace_;
  std::unique_ptr<uint8_t[]> mask_;
  std::unique_ptr<int32_t[]> lengths_;
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
                        InstanceMethod("backward", &RnnHandle::Backward),
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
      napi_deferred deferred;
      napi_value promise, status;
      if (napi_create_promise(env, &deferred, &promise) != napi_ok) return env.Undefined();
      if (napi_create_int32(env, early, &status) == napi_ok) napi_resolve_deferred(env, deferred, status);
      return Napi::Value(env, promise);
    }
    // Null (undefined in JS) only where no JS runs any more to see it.
    return Napi::Value(env, ForwardWork::Start(env, shared_, call, info));
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

  // backward(kernel, recurrentKernel, recurrentBias, peepholes, batch, steps, flags, mask, sequenceLengths,
  // trace, gradOutput, gradInput): rnn_backward on the JS thread; the weights are the float32 ones the
  // layer was created from (absent tensors null).
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_) return Napi::Number::New(env, kStatusDisposed);
    if (info.Length() < 12) return Napi::Number::New(env, kStatusBadBuffer);
    const int32_t batch = info[4].As<Napi::Number>().Int32Value(), steps = info[5].As<Napi::Number>().Int32Value(),
                  flags = info[6].As<Napi::Number>().Int32Value();
    if (batch < 1 || steps < 1) return Napi::Number::New(env, kStatusBadBuffer);
    const size_t B = batch, T = steps, I = input_size_, U = units_, G = has_cell_ ? 4 : 3;
    float *kernel, *recurrent, *recurrent_bias, *peep, *trace, *grad_output, *grad_input;
    uint8_t* mask;
    int32_t* lengths;
    if (!typed_arg(info[0], I * G * U, false, &kernel) || !typed_arg(info[1], U * G * U, false, &recurrent) ||
        !typed_arg(info[2], G * U, true, &recurrent_bias) || !typed_arg(info[3], 3 * U, true, &peep) ||
        !typed_arg(info[7], B * T, true, &mask) || !typed_arg(info[8], B, true, &lengths) ||
        !typed_arg(info[9], (size_t)trace_count_ * B * T * U, false, &trace) ||
        !typed_arg(info[10], (flags & RNN_RETURN_SEQUENCES) ? B * T * U : B * U, false, &grad_output) ||
        !typed_arg(info[11], B * T * I, false, &grad_input))
      return Napi::Number::New(env, kStatusBadBuffer);
    return Napi::Number::New(env, rnn_backward(shared_->layer, kernel, recurrent, recurrent_bias, peep, batch, steps, flags,
                                               mask, lengths, trace, grad_output, grad_input));
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

// A 1-D convolution (rnn_conv1d_*): forward(batch, steps, padLeft, padRight, input, output) on the JS thread.
class Conv1dHandle : public Napi::ObjectWrap<Conv1dHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Conv1dHandle",
                       {InstanceMethod("forward", &Conv1dHandle::Forward), InstanceMethod("isa", &Conv1dHandle::Isa),
                        InstanceMethod("dispose", &Conv1dHandle::Dispose)});
  }

  // new Conv1dHandle(config, kernel, bias or null); check status().
  explicit Conv1dHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Conv1dHandle>(info) {
    Napi::Object cfg = info[0].As<Napi::Object>();
    const auto int_of = [&](const char* key) { return cfg.Get(key).As<Napi::Number>().Int32Value(); };
    rnn_conv1d_config config{};
    config.in_channels = int_of("inChannels");
    config.out_channels = int_of("outChannels");
    config.kernel_size = int_of("kernelSize");
    config.stride = int_of("stride");
    config.dilation = int_of("dilation");
    config.groups = int_of("groups");
    config.activation = activation_arg(cfg, "activation");
    config.isa = int_of("isa");
    if (config.in_channels < 1 || config.out_channels < 1 || config.kernel_size < 1 || config.groups < 1 ||
        config.in_channels % config.groups) {
      status_ = RNN_ERR_CONFIG;
      return;
    }
    const size_t n_kernel = (size_t)config.kernel_size * (config.in_channels / config.groups) * config.out_channels;
    float *kernel, *bias;
    if (!typed_arg(info[1], n_kernel, false, &kernel) || !typed_arg(info[2], (size_t)config.out_channels, true, &bias)) {
      status_ = kStatusBadBuffer;
      return;
    }
    status_ = rnn_conv1d_create(&config, kernel, bias, &conv_);
    in_channels_ = config.in_channels;
    out_channels_ = config.out_channels;
  }
  ~Conv1dHandle() { rnn_conv1d_destroy(conv_); }

  int32_t status() const { return status_; }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!conv_) return Napi::Number::New(env, kStatusDisposed);
    if (info.Length() < 6) return Napi::Number::New(env, kStatusBadBuffer);
    const auto int_arg = [&](int k) { return info[k].As<Napi::Number>().Int32Value(); };
    const int32_t batch = int_arg(0), steps = int_arg(1), pad_left = int_arg(2), pad_right = int_arg(3);
    if (batch < 1 || steps < 1) return Napi::Number::New(env, kStatusBadBuffer);
    const int32_t out_steps = rnn_conv1d_output_steps(conv_, steps, pad_left, pad_right);
    if (out_steps < 1) return Napi::Number::New(env, RNN_ERR_SHAPE);
    float *input, *output;
    if (!typed_arg(info[4], (size_t)batch * steps * in_channels_, false, &input) ||
        !typed_arg(info[5], (size_t)batch * out_steps * out_channels_, false, &output))
      return Napi::Number::New(env, kStatusBadBuffer);
    return Napi::Number::New(env, rnn_conv1d_forward(conv_, batch, steps, pad_left, pad_right, input, output));
  }

  Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), rnn_conv1d_isa(conv_)); }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    rnn_conv1d_destroy(conv_);
    conv_ = nullptr;
    return info.Env().Undefined();
  }

  rnn_conv1d* conv_ = nullptr;
  int32_t status_ = RNN_OK;
  int32_t in_channels_ = 0, out_channels_ = 0;
};

// What one environment (the main thread or a worker) holds: its RnnHandle and Conv1dHandle classes.
struct EnvData {
  Napi::FunctionReference ctor;
  Napi::FunctionReference conv_ctor;
};

// Environments that have loaded the addon; the last one torn down joins the helper threads,
// before Node unloads the addon with it (a helper left running there crashed the process).
std::mutex g_envs_mutex;
int g_envs = 0;

void env_cleanup(void*) {
  std::lock_guard<std::mutex> lock(g_envs_mutex);
  if (--g_envs == 0) rnn_threads_stop();
}

Napi::Value CreateRnn(const Napi::CallbackInfo& info) {
  // Construct through JS so ObjectWrap owns the handle, then report the status beside it.
  Napi::Env env = info.Env();
  Napi::Function ctor = env.GetInstanceData<EnvData>()->ctor.Value();
  Napi::Object handle = ctor.New({info[0], info[1], info[2], info[3], info[4], info[5]});
  Napi::Object result = Napi::Object::New(env);
  result.Set("status", RnnHandle::Unwrap(handle)->status());
  result.Set("handle", handle);
  return result;
}

Napi::Value CreateConv1d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Function ctor = env.GetInstanceData<EnvData>()->conv_ctor.Value();
  Napi::Object handle = ctor.New({info[0], info[1], info[2]});
  Napi::Object result = Napi::Object::New(env);
  result.Set("status", Conv1dHandle::Unwrap(handle)->status());
  result.Set("handle", handle);
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = RnnHandle::Define(env);
  EnvData* data = new EnvData{Napi::Persistent(ctor), Napi::Persistent(Conv1dHandle::Define(env))};
  env.SetInstanceData(data);
  {
    std::lock_guard<std::mutex> lock(g_envs_mutex);
    ++g_envs;
  }
  // Cleanup hooks run once the environment's pending async work has completed. (Should adding
  // it fail, the count stays up and the helpers live as long as the process, as they used to.)
  napi_add_env_cleanup_hook(env, env_cleanup, data);
  exports.Set("createRnn", Napi::Function::New(env, CreateRnn));
  exports.Set("createConv1d", Napi::Function::New(env, CreateConv1d));
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
                float* data = nullptr;
                size_t n = 0;
                if (!typed_view(info.Env(), info[0], &data, &n)) return Napi::Number::New(info.Env(), -2);
                return Napi::Number::New(info.Env(), data ? (double)rnn_first_nonfinite(data, (int64_t)n) : -1.0);
              }));
  return exports;
}

}  // namespace

NODE_API_MODULE(lstm_runtime, Init)
