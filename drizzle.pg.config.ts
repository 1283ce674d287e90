import { defineConfig } from 'drizzle-kit';
export default defineConfig({ dialect: 'postgresql', schema: './collector/storage/schema.pg.ts', out: './collector/storage/migrations/pg' });
