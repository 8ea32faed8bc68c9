import { api } from '../api.server';

export const loader = api('sessionLoader');
export const action = api('sessionAction');
