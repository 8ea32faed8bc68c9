import { api } from '../api.server';

export const loader = api('notFound');
export const action = api('notFound');
