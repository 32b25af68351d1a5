import { describeWithElasticsearch } from '../support/elasticsearch';
import { searchIndexCases } from '../support/search-index-cases';

describeWithElasticsearch('audit index on the Elasticsearch dev node', (url) => searchIndexCases('es', url));
