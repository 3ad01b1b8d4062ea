/** A setting that cannot work; the node refuses to start and says which. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
