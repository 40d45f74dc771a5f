"""The GraphQL API (Strawberry) at ``/graphql``: the same domain services as REST."""
