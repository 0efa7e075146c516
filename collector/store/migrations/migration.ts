/** One schema version: statements applied in one transaction, recorded in `schema_migrations`. Never edit a released one; add the next. */
export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

/** The newest version in a list (what `ready()` expects to find applied). */
export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}
