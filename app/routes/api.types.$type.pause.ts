import { api } from '../api.server';

export const loader = api('wrongMethod');
export const action = api('typePauseAction');
