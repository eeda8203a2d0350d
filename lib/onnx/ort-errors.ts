/**
 * onnxruntime's error messages, made fit for clients: ORT prefixes its failures with C++ source locations
 * (`/onnxruntime_src/…/initializer.cc:51 onnxruntime::Initializer::Initializer(…)`, `tensorprotoutils.cc:461
 * ValidateExternalDataPathFromDir`) and quotes server paths (the model's temporary file, external data).
 * What is left is ORT's reason: "Type Error: …", "Initializer 'w': raw_data size … does not match …".
 */
export function ortClientMessage(message: string, modelPath?: string): string {
  let text = message;
  if (modelPath) {
    text = text.replace(`Load model from ${modelPath} failed:`, '').replaceAll(modelPath, 'the model');
  }
  text = stripSourceLocations(text)
    .replace(/\[ONNXRuntimeError\] : \d+ : \w+ : /g, '')
    // An absolute path keeps its last part: "weights.bin" says what is missing without the server's layout.
    .replace(/(?<![\w.\-/])\/(?:[^\s"'/]+\/)+([^\s"'/]*)/g, '$1');
  return text.replace(/\s+/g, ' ').trim();
}

// "<file>.cc:187 " with or without a directory: the file and line of an ORT_ENFORCE or ORT_MAKE_STATUS.
const SOURCE_LOCATION = /\S*\.(?:cc|cpp|h|hpp):\d+ /g;

/** Drops every "<file>:<line> <function> ", where the function may be a C++ signature with nested parentheses. */
function stripSourceLocations(message: string): string {
  let out = '';
  let from = 0;
  for (const match of message.matchAll(SOURCE_LOCATION)) {
    if (match.index < from) continue;
    out += message.slice(from, match.index);
    from = skipFunction(message, match.index + match[0].length);
  }
  return out + message.slice(from);
}

/** The index past the function name (or signature) starting at `start`, and its " const" or "[with …]". */
function skipFunction(message: string, start: number): number {
  let depth = 0;
  let i = start;
  for (; i < message.length; i++) {
    const char = message[i];
    if (char === '(') depth++;
    else if (char === ')') depth = Math.max(0, depth - 1);
    else if (char === ' ' && depth === 0) break;
  }
  const rest = /^\s*(?:const\b)?\s*(?:\[with [^\]]*\])?\s*/.exec(message.slice(i));
  return i + (rest?.[0].length ?? 0);
}

/** A model failed to run; its message is onnxruntime's reason as ortClientMessage cleans it (the cause keeps ORT's). */
export class ModelRunError extends Error {
  override readonly name = 'ModelRunError';
}
