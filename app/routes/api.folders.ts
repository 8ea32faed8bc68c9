import { api } from '../api.server';

export const loader = api('foldersLoader');
export const action = api('wrongMethod');
