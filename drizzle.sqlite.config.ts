import { defineConfig } from 'drizzle-kit';
export default defineConfig({ dialect: 'sqlite', schema: './collector/storage/schema.sqlite.ts', out: './collector/storage/migrations/sqlite' });
