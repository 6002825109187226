import 'reflect-metadata';
import { loadConfig } from './src/config';
import { createDataSource } from './src/db/data-source';

/** The DataSource for the TypeORM CLI (migration:generate / migration:run), from DATABASE_URL. */
export default createDataSource(loadConfig().database);
