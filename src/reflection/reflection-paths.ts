/** The request paths of the reflection streams (v1 and v1alpha). */
export const reflectionPaths: ReadonlySet<string> = new Set(
  ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"].map((s) => `/${s}/ServerReflectionInfo`),
);
