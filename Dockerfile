# The tracker's image: one image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml ./
COPY config/__init__.py config/__init__.py
COPY tracker/__init__.py tracker/__init__.py
COPY commitments/__init__.py commitments/__init__.py
RUN pip install .

COPY . .
RUN pip install --no-deps . \
    && useradd --create-home --uid 1000 tracker \
    && mkdir -p var/staticfiles var/media var/beat \
    && chown -R tracker:tracker var

# Never root: a hole in the web app must not own the container.
USER tracker
EXPOSE 8000
CMD ["bin/web"]
