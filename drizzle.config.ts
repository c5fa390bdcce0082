import { defineConfig } from 'drizzle-kit'

// Generates the PostgreSQL tier's migrations (`npm run db:generate`); the tier applies them at start.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/sql/postgres/schema.ts',
  out: './drizzle/postgres',
})
